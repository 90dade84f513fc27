/**
 * The server side of one SASL mechanism for one authentication: tokens in, challenges out, until
 * it succeeds with a principal or fails. A SaslServer is used once (a new one per SaslHandshake,
 * so per re-authentication too) and never throws for anything the client sent: bad input is a
 * `failed` step, whose message the client is shown (it names no secret).
 */
export type SaslStep =
  | { readonly kind: 'challenge'; readonly bytes: Buffer }
  | {
      readonly kind: 'done';
      readonly bytes: Buffer;
      /** `User:NAME`. */
      readonly principal: string;
      /** When the credential stops being valid (an OAuth token's exp), if it does. */
      readonly expiresAtMs?: number;
    }
  | {
      readonly kind: 'failed';
      /** For the client (error_message of SaslAuthenticate). */
      readonly message: string;
      /** The user the client tried, for the log, when it named one. */
      readonly user?: string;
      /** The reason for the log only (never shown to the client). */
      readonly reason: string;
    };

export interface SaslServer {
  readonly mechanism: string;
  evaluate(token: Buffer): Promise<SaslStep>;
}

export function failed(message: string, reason: string, user?: string): SaslStep {
  return { kind: 'failed', message, reason, ...(user === undefined ? {} : { user }) };
}
