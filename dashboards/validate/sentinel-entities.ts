/**
 * Entity types and their identifiers as Sentinel analytics rule entity mappings accept them ("Microsoft
 * Sentinel entity types reference"; ARM `EntityMappingType`). Only the types an MCP rule could plausibly map.
 */
export const ENTITY_IDENTIFIERS: Readonly<Record<string, readonly string[]>> = {
  Account: [
    'Name',
    'FullName',
    'NTDomain',
    'DnsDomain',
    'UPNSuffix',
    'Sid',
    'AadTenantId',
    'AadUserId',
    'PUID',
    'IsDomainJoined',
    'DisplayName',
    'ObjectGuid',
    'CloudAppAccountId',
  ],
  Host: [
    'DnsDomain',
    'NTDomain',
    'HostName',
    'FullName',
    'NetBiosName',
    'AzureID',
    'OMSAgentID',
    'OSFamily',
    'OSVersion',
    'IsDomainJoined',
  ],
  IP: ['Address', 'AddressScope'],
  CloudApplication: ['AppId', 'Name', 'InstanceName'],
  URL: ['Url'],
  DNS: ['DomainName'],
  AzureResource: ['ResourceId'],
  Process: ['ProcessId', 'CommandLine', 'ElevationToken', 'CreationTimeUtc'],
  File: ['Directory', 'Name'],
  FileHash: ['Algorithm', 'Value'],
  SecurityGroup: ['DistinguishedName', 'SID', 'ObjectGuid'],
  Mailbox: ['MailboxPrimaryAddress', 'DisplayName', 'Upn', 'ExternalDirectoryObjectId', 'RecipientType'],
  Malware: ['Name', 'Category'],
  RegistryKey: ['Hive', 'Key'],
  RegistryValue: ['Name', 'Value', 'ValueType'],
};

/** Properties `alertDetailsOverride.alertDynamicProperties` may set (ARM `AlertProperty`). */
export const ALERT_DYNAMIC_PROPERTIES = [
  'AlertLink',
  'ConfidenceLevel',
  'ConfidenceScore',
  'ExtendedLinks',
  'ProductComponentName',
  'ProductName',
  'ProviderName',
  'RemediationSteps',
  'Techniques',
  'SubTechniques',
] as const;
