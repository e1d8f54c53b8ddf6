// Validates Kubernetes manifests against the Kubernetes API's schemas (the
// kubernetes-models package: every object of a known apiVersion and kind is checked for
// its fields' types, required fields and enumerations). Prints "KIND NAME: valid" per
// object, or the errors; exits 1 when any object is invalid or of an unknown kind.
//   node validate-k8s.mjs FILE...
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

let bad = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) {
      console.log(`${file}: YAML: ${doc.errors[0].message}`);
      bad++;
      continue;
    }
    const obj = doc.toJS();
    if (!obj) continue;
    const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/")
                                                          : [null, obj.apiVersion];
    const path = group ? `kubernetes-models/${group}/${version}/${obj.kind}`
                       : `kubernetes-models/${version}/${obj.kind}`;
    const name = `${obj.kind} ${obj.metadata?.name ?? "?"}`;
    let Model;
    try {
      Model = (await import(path))[obj.kind];
    } catch {
      console.log(`${file}: ${name}: unknown apiVersion/kind ${obj.apiVersion} ${obj.kind}`);
      bad++;
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`${name}: valid`);
    } catch (e) {
      console.log(`${file}: ${name}: ${e.message}`);
      bad++;
    }
  }
}
process.exit(bad ? 1 : 0);
