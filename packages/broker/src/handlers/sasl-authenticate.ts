/**
 * SaslAuthenticate (key 36), v0-2: one SASL token of the mechanism SaslHandshake picked, and the
 * server's answer. A failure is SASL_AUTHENTICATION_FAILED with a message, answered after
 * `connection.failed.authentication.delay.ms`; the connection then closes. v1+ carries
 * session_lifetime_ms (KIP-368: `connections.max.reauth.ms`, 0 when re-authentication is off).
 * The state machine is security/connection-authentication.ts.
 */
import { ErrorCode, saslAuthenticateApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';

export const saslAuthenticateHandler = defineHandler(
  saslAuthenticateApi,
  async (context, request) => {
    const authentication = context.authentication;
    if (authentication === undefined) {
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: 'SaslAuthenticate request received on a listener without SASL',
        authBytes: Buffer.alloc(0),
        sessionLifetimeMs: 0n,
      };
    }
    return authentication.authenticate(request.authBytes, context.apiVersion);
  },
);
