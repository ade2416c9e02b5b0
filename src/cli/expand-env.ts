/**
 * Go's os.ExpandEnv, which SPIRE applies to the whole config file when started with
 * `-expandEnv` (cmd/spire-server/cli/run/run.go in spiffe/spire): `${VAR}` and `$VAR` become
 * the variable's value, unset ones the empty string. Go's edge cases are kept: `$` not followed
 * by a name stays, `${}` and an unclosed `${` are eaten, and one-character special names
 * (`$1`, `$*`, `$#`, `$$`, `$@`, `$!`, `$?`, `$-`) are looked up like any other.
 */
const SPECIAL = /^[*#$@!?\-0-9]$/;
const NAME_CHAR = /^[A-Za-z0-9_]$/;

export function expandEnv(text: string, env: Readonly<Record<string, string | undefined>>): string {
  let out = "";
  let i = 0;
  for (let j = 0; j < text.length; j++) {
    if (text[j] !== "$" || j + 1 >= text.length) continue;
    out += text.slice(i, j);
    const [name, width] = shellName(text.slice(j + 1));
    if (name === "" && width === 0)
      out += "$"; // no name after $: left as is
    else if (name !== "") out += env[name] ?? ""; // name === "" with width > 0: bad syntax, eaten
    j += width;
    i = j + 1;
  }
  return out + text.slice(i);
}

/** Go's getShellName: the name after a `$` and how many characters it takes. */
function shellName(s: string): [string, number] {
  if (s[0] === "{") {
    if (s.length > 2 && SPECIAL.test(s[1]!) && s[2] === "}") return [s[1]!, 3];
    const close = s.indexOf("}", 1);
    if (close === -1) return ["", 1];
    return close === 1 ? ["", 2] : [s.slice(1, close), close + 1];
  }
  if (SPECIAL.test(s[0]!)) return [s[0]!, 1];
  let n = 0;
  while (n < s.length && NAME_CHAR.test(s[n]!)) n++;
  return [s.slice(0, n), n];
}
