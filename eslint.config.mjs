// @ts-check
// ESLint flat config: type-aware typescript-eslint rules over everything tsconfig.json compiles
// (src, test, migrations, scripts, bench). `npm run lint` runs it with --max-warnings=0.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/**', 'coverage/**', '.data/**', 'node_modules/**', 'test/artifacts/**'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // The project service finds tsconfig.json, which includes every TypeScript folder we lint.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A payments service must not lose a promise: an unawaited write or provider call fails
      // silently, and a promise passed where a callback is expected has its rejection dropped.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `return await` inside try/catch, so the catch and finally see the rejection.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // Statuses, provider codes and environments are unions: a new member must be handled
      // wherever one is switched on (a `default` branch counts as handling it).
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      // `== null` is the one idiom that means "null or undefined"; everything else compares strictly.
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Type-only imports are erased, so they cannot create import cycles or load modules at run
      // time. The rule leaves files with decorators alone (emitDecoratorMetadata needs the value
      // import there for Nest's dependency injection).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      // `_name` marks a parameter kept for a signature (Nest interfaces, callbacks); a caught error
      // may be ignored on purpose (`catch (error)` where only the fact of failing matters).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // The service logs through pino (structured, redacted); console output bypasses redaction.
      'no-console': 'error',
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
  {
    // The bench and the scripts are command-line tools whose output is for the terminal.
    files: ['scripts/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests read supertest's `response.body` and `dataSource.query()` rows, both typed `any` by
    // those libraries, and check their shape at run time with `expect`. The no-unsafe-* rules
    // flag every such read (over 400 findings, none a defect); typing each body would add casts,
    // not checks. Everything else, the promise rules above included, applies to tests too.
    // Colocated specs (src/**/*.spec.ts) too; their strict in-memory fakes implement async ports
    // synchronously (require-await) and hand methods to jest.spyOn (unbound-method).
    files: ['test/**', 'src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript (jest.config.js, this file, test/support/crash-on-signal.js) has no types
    // to check.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The CommonJS files run under Node. (The `globals` package is only a transitive dependency,
    // so the few Node globals they use are listed here rather than imported.)
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', process: 'readonly', setImmediate: 'readonly' },
    },
    // CommonJS loads its modules with require(): that is the module system, not a style choice.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // Last: turns off every stylistic rule that Prettier owns.
  prettier,
);
