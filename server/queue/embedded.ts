// The store-backed queue's former name, kept until every caller says StoreQueue.
export { StoreQueue as EmbeddedQueue, type JobDoc, type StoreQueueOptions as EmbeddedQueueOptions } from './store-queue.ts';
