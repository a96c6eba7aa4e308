/** An answer other than 2xx, with the message the client reads in `{"error": …}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
