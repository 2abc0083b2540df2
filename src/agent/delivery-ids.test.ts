import { deliveryIdStoreContract } from "../sources/delivery-id-store-contract.js";
import { parseConfig } from "../config.js";
import { openStorage } from "./adapters.js";
import { createManualClock } from "./clock.js";
import { createStorageDeliveryIdStore } from "./delivery-ids.js";

deliveryIdStoreContract("storage-backed (SQLite)", async () => createStorageDeliveryIdStore(await openStorage(parseConfig({ store: { path: ":memory:" } })), createManualClock("2025-01-01T00:00:00Z")));
