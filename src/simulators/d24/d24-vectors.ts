/**
 * Fixed D24 vectors, computed once with openssl from the documented rule, e.g.
 *   printf '%s' '<body>' | openssl dgst -sha256 -hmac 'd24-test-signature-secret'
 *   printf '%s' 'Be4ext-123Bo7' | openssl dgst -sha256 -hmac 'd24-test-signature-secret'   (then upper-cased)
 * Both the simulator and the product's client are tested against them.
 */
export const D24_VECTOR_SECRET = 'd24-test-signature-secret';

export const D24_PAYLOAD_SIGNATURE_VECTORS = [
  {
    body: '{"login":"merchant-login","pass":"merchant-pass","external_id":"ext-123","amount":100.5}',
    signature: '90d398e3bdfdd509959ed47d121295ecc4182e05f1d6e95320aa82dca8b03bb5',
  },
  {
    // UTF-8 bytes of non-ASCII names are what is signed.
    body: '{"beneficiary_name":"José Müller","amount":10}',
    signature: '7694faa05552706f35e13a74bb1a9c81ce2d9fd8fcef15b862778af89cbd8ba5',
  },
  {
    // An empty body signs the empty string.
    body: '',
    signature: '342f60b0c5984f9e50e1ebce800c04a12eeb442b6bb14f7ffa944de48d48bb54',
  },
] as const;

export const D24_CONTROL_VECTORS = [
  { externalId: 'ext-123', control: 'E6BFCB673F3BE13FAD2C4E7BEAFE52A874C019E270F9FF35035A53C9050646BB' },
] as const;
