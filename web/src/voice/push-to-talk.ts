// Push-to-talk as a plain class: the talk button's press and release become the turn the server
// answers. Audio goes to the server while the button is held and for a short tail after it is let
// go (so the last syllable is not cut off); then the turn is committed, or cleared if it was too
// short to be one. Pressing while an answer plays or streams interrupts it, as speaking does
// hands-free.
//
//   idle --press--> held --release--> tail --(RELEASE_TAIL_MS)--> idle (commit, or clear)
//                     ^------press-----'   (pressed again in the tail: the same utterance goes on)

import type { Clock } from './realtime-client.ts';

/** What the talk button drives: the realtime session and the speakers. */
export interface TalkTarget {
  /** A session is open: a turn can be taken. */
  canTalk(): boolean;
  /** An answer is being received or played: pressing interrupts it. */
  responding(): boolean;
  playing(): boolean;
  /** Drops the answer audio still arriving, stops what is playing and tells the server how much was heard. */
  interrupt(): void;
  /** Asks the server to stop generating the answer. */
  cancel(): void;
  hold(held: boolean): void;
  clear(): void;
  commit(): void;
  notice(text: string): void;
}

export type TalkPhase = 'idle' | 'held' | 'tail';

// Audio captured after the talk button is let go, so the last syllable is not cut off.
export const RELEASE_TAIL_MS = 250;
// Two 100 ms frames: the server needs at least 100 ms to commit a turn.
export const MIN_HELD_FRAMES = 2;

export const TOO_SHORT = 'Hold the talk button down while you speak, then let go.';

export class PushToTalk {
  #target: TalkTarget;
  #clock: Clock;
  #onHeld: (held: boolean) => void;
  #phase: TalkPhase = 'idle';
  /** Frames the server took since the press. */
  #frames = 0;
  #tail: unknown = undefined;

  /** `onHeld` hears the button go down and up, for the page to show it pressed. */
  constructor(target: TalkTarget, clock: Clock, onHeld: (held: boolean) => void) {
    this.#target = target;
    this.#clock = clock;
    this.#onHeld = onHeld;
  }

  get phase(): TalkPhase {
    return this.#phase;
  }

  /** Audio goes to the server: held, or in the tail after release. */
  get sending(): boolean {
    return this.#phase !== 'idle';
  }

  press(): void {
    if (!this.#target.canTalk() || this.#phase === 'held') return;
    this.#clock.clearTimeout(this.#tail);
    const continuing = this.#phase === 'tail';
    this.#setPhase('held');
    this.#target.hold(true);
    if (continuing) return;
    this.#frames = 0;
    // Talking over the answer stops it, as it does hands-free.
    if (this.#target.playing() || this.#target.responding()) this.#interrupt();
    this.#target.clear();
  }

  /** Pointer up, lost capture and blur can all report the same release: only the first counts. */
  release(): void {
    if (this.#phase !== 'held') return;
    this.#setPhase('tail');
    this.#target.hold(false);
    this.#clock.clearTimeout(this.#tail);
    this.#tail = this.#clock.setTimeout(() => this.#endTail(), RELEASE_TAIL_MS);
  }

  /**
   * A frame from the microphone: `send` is called when it should go to the server (always when
   * hands-free, else only while sending) and says whether the server took it.
   */
  frame(send: () => boolean, handsFree: boolean): void {
    if (!handsFree && !this.sending) return;
    if (send() && this.sending) this.#frames++;
  }

  /** The microphone went off: whatever was held is dropped without a turn. */
  reset(): void {
    this.#clock.clearTimeout(this.#tail);
    this.#setPhase('idle');
  }

  #interrupt(): void {
    const answering = this.#target.responding();
    this.#target.interrupt();
    if (answering) this.#target.cancel();
  }

  #endTail(): void {
    this.#phase = 'idle';
    if (this.#frames >= MIN_HELD_FRAMES) this.#target.commit();
    else {
      this.#target.clear();
      this.#target.notice(TOO_SHORT);
    }
  }

  #setPhase(phase: TalkPhase): void {
    const wasHeld = this.#phase === 'held';
    this.#phase = phase;
    if (wasHeld !== (phase === 'held')) this.#onHeld(phase === 'held');
  }
}
