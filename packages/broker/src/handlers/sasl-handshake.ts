/**
 * SaslHandshake (key 17), v0-1: the client names a SASL mechanism; the answer lists the
 * listener's enabled mechanisms, with UNSUPPORTED_SASL_MECHANISM (then the connection closes)
 * when the one asked for is not among them. After v1 the tokens travel in SaslAuthenticate;
 * after v0 (kafka-python) as raw frames. On a listener without SASL: ILLEGAL_SASL_STATE.
 * The state machine is security/connection-authentication.ts.
 */
import { ErrorCode, saslHandshakeApi } from '@tributary/protocol';
import { defineHandler } from '../handler.ts';

export const saslHandshakeHandler = defineHandler(saslHandshakeApi, (context, request) => {
  const authentication = context.authentication;
  if (authentication === undefined) {
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
  }
  return authentication.handshake(request.mechanism, context.apiVersion);
});
