// The function's `--help` text (what `kpt fn doc --image` shows), made from the README's
// sections between `<!--mdtogo:Short-->`, `<!--mdtogo:Long-->`, `<!--mdtogo:Examples-->` and
// `<!--mdtogo-->`, the markers the kpt functions catalog uses: one text for both, so the two
// cannot disagree. scripts/build.mjs puts the result into the bundle.

/** The marked sections of the README, as plain text for a terminal. */
export function functionHelp(readme) {
  const section = (name) => {
    const m = new RegExp(`<!--mdtogo:${name}-->\\n([\\s\\S]*?)<!--mdtogo-->`).exec(readme);
    if (!m) throw new Error(`README.md has no <!--mdtogo:${name}--> section`);
    return m[1];
  };
  return (
    [section('Short'), section('Long'), section('Examples')]
      .map(plain)
      .join('\n\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  );
}

/** Markdown as terminal text: headings in capitals, code indented, links as their text. */
function plain(md) {
  const out = [];
  let fence = false;
  for (const line of md.replace(/<!--[\s\S]*?-->\n?/g, '').split('\n')) {
    if (/^```/.test(line)) {
      fence = !fence;
      continue;
    }
    if (fence) {
      out.push(`    ${line}`);
      continue;
    }
    const h = /^#{2,}\s+(.*)$/.exec(line);
    if (h) {
      out.push(h[1].toUpperCase());
      continue;
    }
    out.push(
      line.replace(/\[([^\]]+)\]\(([^)]+)\)/g, (_, text, href) => (href.startsWith('#') || href === text ? text : `${text} (${href})`)),
    );
  }
  return out.join('\n').trim();
}
