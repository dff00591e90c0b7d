/** kafkajs partition assigners mcpwatch needs and kafkajs lacks. */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/** A kafkajs assigner that gives the first member one partition, so a group can read just that partition. */
export function onePartitionAssigner(topic: string, partition: number): PartitionAssigner {
  const name = 'mcpwatch-one-partition';
  return () => ({
    name,
    version: 0,
    assign: ({ members }) =>
      Promise.resolve(
        members.map((member, index) => ({
          memberId: member.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 0,
            assignment: index === 0 ? { [topic]: [partition] } : {},
            userData: Buffer.alloc(0),
          }),
        })),
      ),
    protocol: ({ topics }) => ({
      name,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    }),
  });
}

/**
 * Kafka's range assignment over every subscribed topic, with members in one order (by member id): partition p
 * of each topic with the same partition count goes to the same member. Kafka Streams relies on the same
 * co-partitioning, so that an engine of partition p sees partition p of its input and repartition topics.
 * A topic with fewer partitions (a one-partition global scope) gets its partitions from the first members.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => {
  const name = 'mcpwatch-co-partitioned';
  return {
    name,
    version: 0,
    assign: ({ members, topics }) => {
      const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
      const subscribed = new Map(
        sorted.map((member) => [
          member.memberId,
          new Set(AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.topics ?? []),
        ]),
      );
      const assignment = new Map<string, Record<string, number[]>>(sorted.map((member) => [member.memberId, {}]));
      for (const topic of [...topics].sort()) {
        const readers = sorted.filter((member) => subscribed.get(member.memberId)!.has(topic));
        if (readers.length === 0) continue;
        const partitions = cluster
          .findTopicPartitionMetadata(topic)
          .map((metadata) => metadata.partitionId)
          .sort((a, b) => a - b);
        const base = Math.floor(partitions.length / readers.length);
        const extra = partitions.length % readers.length;
        let next = 0;
        for (const [index, member] of readers.entries()) {
          const share = base + (index < extra ? 1 : 0);
          if (share > 0) assignment.get(member.memberId)![topic] = partitions.slice(next, next + share);
          next += share;
        }
      }
      return Promise.resolve(
        sorted.map((member) => ({
          memberId: member.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 0,
            assignment: assignment.get(member.memberId)!,
            userData: Buffer.alloc(0),
          }),
        })),
      );
    },
    protocol: ({ topics }) => ({
      name,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    }),
  };
};
