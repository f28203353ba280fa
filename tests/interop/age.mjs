// Drives npm's age-encryption (the reference TypeScript implementation) for interop tests.
//
//   node age.mjs keygen-pq                 prints a hybrid identity, then its recipient
//   node age.mjs encrypt RECIPIENT...      stdin -> age file on stdout
//   node age.mjs decrypt                   stdin -> plaintext; identity from AGE_IDENTITY
import * as age from "age-encryption";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

const [command, ...args] = process.argv.slice(2);
if (command === "keygen-pq") {
  const identity = await age.generateHybridIdentity();
  process.stdout.write(identity + "\n" + (await age.identityToRecipient(identity)) + "\n");
} else if (command === "encrypt") {
  const encrypter = new age.Encrypter();
  for (const recipient of args) encrypter.addRecipient(recipient);
  process.stdout.write(await encrypter.encrypt(await readStdin()));
} else if (command === "decrypt") {
  const decrypter = new age.Decrypter();
  decrypter.addIdentity(process.env.AGE_IDENTITY);
  process.stdout.write(await decrypter.decrypt(await readStdin()));
} else {
  process.stderr.write("usage: node age.mjs keygen-pq | encrypt RECIPIENT... | decrypt\n");
  process.exit(2);
}
