import { LocalEventBus } from './bus.ts';
import { eventBusContract } from './contract.ts';

eventBusContract('local', async () => ({ bus: new LocalEventBus(), close: async () => {} }));
