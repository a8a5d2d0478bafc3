// The certificate files the gRPC server and the web view share (`serve --tls-cert/--tls-key`).
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** Require and verify client certificates signed by this CA (mTLS). */
  clientCa?: Buffer;
}
