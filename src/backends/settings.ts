// The settings each backend takes from the function config, so the config reader can name
// an unknown key (and suggest the nearest) without loading the backend's code.
export const BACKEND_SETTINGS: Record<string, readonly string[]> = {
  builtin: [],
  grpc: [
    'address',
    'protocol',
    'package',
    'tls',
    'tlsCa',
    'tlsCert',
    'tlsKey',
    'tlsServerName',
    'token',
    'tokenFile',
    'timeout',
    'retries',
    'concurrency',
    'prune',
  ],
};
