import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { projectRoot } from '../../src/config/paths';

/**
 * `f(x, true)` does not say what `true` means at the call site; `f(x, { activate: true })` does.
 * So no function or method in src/ (outside the simulators and specs) takes a positional boolean:
 * a parameter declared `boolean` or defaulted to `true`/`false`. Checked on the syntax, so it is fast.
 */
const root = projectRoot();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'simulators' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [full] : [];
  });
}

function isBooleanParameter(parameter: ts.ParameterDeclaration): boolean {
  const type = parameter.type;
  const declaredBoolean =
    type !== undefined &&
    (type.kind === ts.SyntaxKind.BooleanKeyword ||
      (ts.isUnionTypeNode(type) && type.types.some((member) => member.kind === ts.SyntaxKind.BooleanKeyword)));
  const initializer = parameter.initializer;
  const defaultsToBoolean =
    initializer !== undefined &&
    (initializer.kind === ts.SyntaxKind.TrueKeyword || initializer.kind === ts.SyntaxKind.FalseKeyword);
  return ts.isIdentifier(parameter.name) && (declaredBoolean || defaultsToBoolean);
}

function booleanFlags(file: string, text = readFileSync(file, 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    // Setters and callbacks passed to other APIs (whose shape they do not choose) are not flags.
    const ownSignature =
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && ts.isVariableDeclaration(node.parent));
    if (ownSignature) {
      const name = ts.isConstructorDeclaration(node)
        ? 'constructor'
        : ts.isVariableDeclaration(node.parent)
          ? node.parent.name.getText(source)
          : (node.name?.getText(source) ?? '(anonymous)');
      for (const parameter of node.parameters) {
        if (isBooleanParameter(parameter))
          found.push(`${path.relative(root, file)} ${name}(${parameter.name.getText(source)})`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('no positional boolean flags', () => {
  it('no function or method in src/ takes a boolean positional parameter; named options instead', () => {
    const found = sourceFiles(path.join(root, 'src')).flatMap((file) => booleanFlags(file));
    expect(found).toEqual([]);
  });

  it('finds each kind of flag, and leaves named options and callbacks alone', () => {
    const probe = [
      'function f(a: string, flag: boolean) {}',
      'class C { constructor(private readonly on?: boolean) {} m(x = false) {} n({ activate }: { activate: boolean }) {} }',
      'const g = (enabled: boolean | undefined) => enabled;',
      'items.filter((item: boolean) => item);',
    ].join('\n');
    expect(booleanFlags(path.join(root, 'src', 'probe.ts'), probe)).toEqual([
      'src/probe.ts f(flag)',
      'src/probe.ts constructor(on)',
      'src/probe.ts m(x)',
      'src/probe.ts g(enabled)',
    ]);
  });
});
