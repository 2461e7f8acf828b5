// PLACEHOLDER: replaced by the real service fake.
import type { FakeAwsCore } from './core.js';
import type { InventoryEntry } from './index.js';

export class FakeSns {
  constructor(readonly core: FakeAwsCore) {}
  inventory(): InventoryEntry[] {
    return [];
  }
}
