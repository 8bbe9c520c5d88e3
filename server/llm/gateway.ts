import type { LlmPolicy } from '../engines/policy.ts';
import type { GenerateRequest, GenerateResult, LlmEngine } from './llm.ts';

/** What the engine layer offers the agent: generation under the organisation's policy. */
export interface EngineGateway {
  /** Engines the policy allows that are installed and not broken, best first; empty → extractive. */
  candidates(policy: LlmPolicy): LlmEngine[];
  /**
   * Generates with the first engine that works, falling back along the policy's order only while
   * nothing has been streamed. Reports which engine served and why.
   */
  generate(policy: LlmPolicy, request: GenerateRequest): Promise<{ result: GenerateResult; engine: LlmEngine; reason: string }>;
}
