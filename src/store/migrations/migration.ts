/** A versioned schema change; statements are built for one quoted schema name. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (quotedSchema: string) => readonly string[];
}
