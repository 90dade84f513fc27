/**
 * @platformatic/kafka raises a response with per-entry errors as a ResponseError that carries the
 * response; tests that check those per-entry codes want the response either way.
 */

/** The response, also when the client raised its per-entry errors as a ResponseError. */
export async function answerOf<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error: unknown) {
    const response = (error as { response?: T }).response;
    if (response === undefined) throw error;
    return response;
  }
}
