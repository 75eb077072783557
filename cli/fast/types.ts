// What every fast path takes and gives (cli/fast/answer.ts dispatches them).

export type Env = Readonly<Record<string, string | undefined>>;

/** What a fast path prints on stdout, and the exit status. */
export interface FastAnswer {
  stdout: string;
  exitCode: number;
}
