// Writing a JSON value as YAML, for the schema editor. Only writing: reading YAML is the server's
// job (POST /schemas/check, PyYAML's safe loader), so no YAML text is ever interpreted here.

const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

function scalar(v) {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  const s = String(v);
  // Plain only when YAML cannot read it as anything but this string; else JSON's quoting, which
  // is valid YAML.
  const plain = /^[A-Za-z_][A-Za-z0-9_ ./()-]*$/.test(s) && !RESERVED.test(s) && !/\s$/.test(s);
  return plain ? s : JSON.stringify(s);
}

const simple = (v) => v === null || typeof v !== "object";

function flow(v) {
  if (Array.isArray(v) && v.every(simple)) {
    const text = `[${v.map(scalar).join(", ")}]`;
    if (text.length <= 72) return text;
  }
  if (Array.isArray(v) && !v.length) return "[]";
  if (!Array.isArray(v) && v && typeof v === "object" && !Object.keys(v).length) return "{}";
  return null;
}

function lines(value, indent, out) {
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (simple(entry) || flow(entry) !== null) { out.push(`${indent}- ${simple(entry) ? scalar(entry) : flow(entry)}`); continue; }
      const inner = [];
      lines(entry, indent + "  ", inner);
      inner[0] = `${indent}- ${inner[0].slice(indent.length + 2)}`;
      out.push(...inner);
    }
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const short = simple(v) ? scalar(v) : flow(v);
    if (short !== null) out.push(`${indent}${scalar(key)}: ${short}`);
    else { out.push(`${indent}${scalar(key)}:`); lines(v, indent + "  ", out); }
  }
}

export function toYaml(value) {
  if (simple(value)) return scalar(value) + "\n";
  const out = [];
  lines(value, "", out);
  return out.join("\n") + "\n";
}
