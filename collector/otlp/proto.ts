/**
 * The subset of the OTLP protobuf definitions (opentelemetry-proto v1.x: common, resource, trace, logs and the
 * collector service messages) the collector decodes. Field numbers are the specification's; fields left out
 * (span events, links, entity refs, ...) are skipped by the decoder as unknown fields, as protobuf requires.
 * Enums are declared as `int32`, which is wire-compatible and keeps unknown values instead of failing.
 * `syntax = "proto3"` makes protobufjs verify UTF-8 in `string` fields, as proto3 requires.
 */
import protobuf from 'protobufjs';

const OTLP_SUBSET = `
syntax = "proto3";
package otlp;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message Resource {
  repeated KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}

message Status {
  string message = 2;
  int32 code = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  Status status = 15;
}
message ScopeSpans {
  InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message ResourceSpans {
  Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}

message LogRecord {
  fixed64 time_unix_nano = 1;
  fixed64 observed_time_unix_nano = 11;
  int32 severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7;
  fixed32 flags = 8;
  bytes trace_id = 9;
  bytes span_id = 10;
  string event_name = 12;
}
message ScopeLogs {
  InstrumentationScope scope = 1;
  repeated LogRecord log_records = 2;
  string schema_url = 3;
}
message ResourceLogs {
  Resource resource = 1;
  repeated ScopeLogs scope_logs = 2;
  string schema_url = 3;
}

message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsPartialSuccess {
  int64 rejected_log_records = 1;
  string error_message = 2;
}
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }

// google.rpc.Status, the body of OTLP/HTTP error responses; \`details\` is never set by the collector.
message RpcStatus {
  int32 code = 1;
  string message = 2;
}
`;

const root = protobuf.parse(OTLP_SUBSET, { keepCase: false }).root;

function type(name: string): protobuf.Type {
  return root.lookupType(`otlp.${name}`);
}

export const OtlpProto = {
  ExportTraceServiceRequest: type('ExportTraceServiceRequest'),
  ExportTraceServiceResponse: type('ExportTraceServiceResponse'),
  ExportLogsServiceRequest: type('ExportLogsServiceRequest'),
  ExportLogsServiceResponse: type('ExportLogsServiceResponse'),
  RpcStatus: type('RpcStatus'),
} as const;
