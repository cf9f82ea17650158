import { ApiKeyEntity } from '../api-keys/api-key.entity';
import { AuditEventEntity } from '../audit/audit-event.entity';
import {
  PayoutBatchApprovalEntity,
  PayoutBatchEntity,
  PayoutBatchItemEntity,
} from '../batches/persistence/batch.entity';
import { BeneficiaryEntity } from '../beneficiaries/persistence/beneficiary.entity';
import {
  IdempotencyKeyEntity,
  PayoutApprovalEntity,
  PayoutEntity,
  PayoutEventEntity,
} from '../payouts/persistence/payout.entity';
import { PayoutPolicyEntity } from '../payout-policies/persistence/payout-policy.entity';
import { WebhookDeliveryEntity } from '../webhooks/persistence/webhook-delivery.entity';
import { EventSubscriptionEntity, OutboundEventEntity } from '../events/outbound-event.entity';
import {
  CredentialEntity,
  CredentialEventEntity,
  CredentialSecretEntity,
} from '../credentials/persistence/credential.entity';

/** Every TypeORM entity. The migration drift test compares these with migrations/. */
export const ENTITIES = [
  ApiKeyEntity,
  CredentialEntity,
  CredentialSecretEntity,
  CredentialEventEntity,
  PayoutEntity,
  PayoutEventEntity,
  IdempotencyKeyEntity,
  WebhookDeliveryEntity,
  EventSubscriptionEntity,
  OutboundEventEntity,
  BeneficiaryEntity,
  PayoutApprovalEntity,
  PayoutPolicyEntity,
  AuditEventEntity,
  PayoutBatchEntity,
  PayoutBatchItemEntity,
  PayoutBatchApprovalEntity,
];
