// Where an organisation lets its models run: on this box only, here first with the cloud as a
// fallback, or the cloud first. One setting governs answers (the LLM router) and voice (the speech
// router) alike, so it lives below both of them and below the agent that passes it on.

export const llmPolicies = ['local-only', 'local-then-cloud', 'cloud-first'] as const;

export type LlmPolicy = (typeof llmPolicies)[number];
