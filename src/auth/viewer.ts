/** The authenticated caller of a request. */
export interface Viewer {
  readonly userID: string;
  readonly isAdmin: boolean;
}
