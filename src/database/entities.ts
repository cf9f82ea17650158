import { ApiKeyEntity } from '../api-keys/api-key.entity';

/** Every TypeORM entity. The migration drift test compares these with migrations/. */
export const ENTITIES = [ApiKeyEntity];
