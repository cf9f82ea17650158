import type { DataSource, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * Whole entities read with SQL written once, hydrated exactly as TypeORM hydrates them (its
 * driver's prepareHydratedValue, column by column). For hot reads: `findOneBy` builds its query
 * again on every call (aliases, escaping, parameter rewriting) and then maps the raw rows through
 * its join-aware transformer; under the bench that was most of TypeORM's share of the API's CPU
 * for a payout notification, whose SQL is a single-table lookup by key.
 */
export class EntityRows<E extends ObjectLiteral, Omitted extends keyof E & string = never> {
  /** `alias."column" AS "property"` for every column, to put after SELECT. */
  readonly selectList: string;
  private readonly metadata: EntityMetadata;
  private readonly columns: readonly ColumnMetadata[];

  /** `omit`: properties neither selected nor hydrated (absent from the type too), for reads that do not need them. */
  constructor(
    private readonly dataSource: DataSource,
    target: EntityTarget<E>,
    alias: string,
    options: { omit?: readonly Omitted[] } = {},
  ) {
    this.metadata = dataSource.getMetadata(target);
    const omitted = new Set<string>(options.omit ?? []);
    this.columns = this.metadata.columns.filter((column) => !omitted.has(column.propertyName));
    this.selectList = this.columns
      .map((column) => `${alias}."${column.databaseName}" AS "${column.propertyName}"`)
      .join(', ');
  }

  hydrate(row: Record<string, unknown>): Omit<E, Omitted> {
    const entity = this.metadata.create() as Record<string, unknown>;
    for (const column of this.columns) {
      entity[column.propertyName] = this.dataSource.driver.prepareHydratedValue(row[column.propertyName], column);
    }
    return entity as Omit<E, Omitted>;
  }
}
