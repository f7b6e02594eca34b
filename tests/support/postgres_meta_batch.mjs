// Runs postgres-meta's type generation for several databases in one node process.
// It calls exactly what dist/server/server.js calls in PG_META_GENERATE_TYPES mode (getTypeOutput):
// PostgresMeta with DEFAULT_POOL_CONFIG, getGeneratorMetadata, then the generator of the language,
// and prints the result like console.log does (with a trailing newline). Saves node start-up per database.
// Input on stdin: JSON [{url, schemas, lang, oneToOne, postgrestVersion}]; output: JSON [string].
import { pathToFileURL } from "node:url";

const root = process.argv[2];
const load = (relative) => import(pathToFileURL(`${root}/${relative}`).href);
const { PostgresMeta } = await load("@supabase/postgres-meta/dist/lib/index.js");
const { getGeneratorMetadata } = await load("@supabase/postgres-meta/dist/lib/generators.js");
const { DEFAULT_POOL_CONFIG } = await load("@supabase/postgres-meta/dist/server/constants.js");
const { generateTypescript, generatePython } = await load("@supabase/postgrest-typegen/dist/index.js");

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const request of JSON.parse(input)) {
  const pgMeta = new PostgresMeta({ ...DEFAULT_POOL_CONFIG, connectionString: request.url });
  const { data, error } = await getGeneratorMetadata(pgMeta, {
    includedSchemas: request.schemas.length > 0 ? request.schemas : undefined,
  });
  if (error) throw new Error(error.message);
  const output = request.lang === "python"
    ? generatePython(data)
    : await generateTypescript(data, {
        detectOneToOneRelationships: request.oneToOne,
        postgrestVersion: request.postgrestVersion ?? undefined,
        defaultSchema: "public",
      });
  results.push(`${output}\n`);
}
process.stdout.write(JSON.stringify(results));
