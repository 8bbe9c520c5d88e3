import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';
import type { VoiceMode, VoicePhase } from '../voice/voice-model.ts';
import { Button } from './button.tsx';

// The voice panel's markup, and nothing else. voice-panel.tsx (in the main bundle) draws the
// section, which stays the same element for the page's life; inside it, the controls are drawn
// by the panel itself before voice was first started and by voice-live.tsx (loaded on Start)
// after, so both look the same.

export interface TalkButton {
  held: boolean;
  enabled: boolean;
  press(): void;
  release(): void;
}

/** What the section says about voice, for styles and for tests that watch it. */
export interface VoiceShown {
  phase: VoicePhase;
  playedFrames: number;
  queuedFrames: number;
}

export interface VoiceViewProps {
  phase: VoicePhase;
  /** The state line. */
  status: string;
  /** Voice is running (or starting): Stop instead of Start, the meter, the talk button. */
  on: boolean;
  mode: VoiceMode;
  deviceId: string;
  devices: MediaDeviceInfo[];
  onStart(): void;
  onStop(): void;
  onMode(mode: VoiceMode): void;
  onDevice(deviceId: string): void;
  /** 0–1. */
  level: number;
  /** Push-to-talk while voice is on. */
  talk: TalkButton | null;
  transcript: { text: string; final: boolean } | null;
  notice: string | null;
  /** Said under the controls while voice is off. */
  hint: string | undefined;
}

const MODES: ReadonlyArray<{ value: VoiceMode; label: string }> = [
  { value: 'hands-free', label: 'Hands-free' },
  { value: 'push-to-talk', label: 'Push to talk' },
];

const isTalkKey = (key: string) => key === ' ' || key === 'Enter';

function MicIcon() {
  return (
    <svg class="voice-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <rect x="9" y="3" width="6" height="11" rx="3" />
      <path d="M5 11a7 7 0 0 0 14 0M12 18v3M8 21h8" />
    </svg>
  );
}

function Meter({ level }: { level: number }) {
  const percent = Math.round(level * 100);
  return (
    <div class="voice-meter" role="meter" aria-label="Microphone level" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
      <span class="voice-meter-fill" style={{ width: `${percent}%` }} />
    </div>
  );
}

function Talk({ talk }: { talk: TalkButton }) {
  return (
    <button
      type="button"
      class="voice-talk"
      aria-pressed={talk.held}
      disabled={!talk.enabled}
      onPointerDown={(e) => {
        if (e.button !== 0) return;
        e.currentTarget.setPointerCapture(e.pointerId);
        talk.press();
      }}
      onPointerUp={talk.release}
      onPointerCancel={talk.release}
      onLostPointerCapture={talk.release}
      onKeyDown={(e) => {
        if (!isTalkKey(e.key) || e.repeat) return;
        e.preventDefault();
        talk.press();
      }}
      onKeyUp={(e) => {
        if (!isTalkKey(e.key)) return;
        e.preventDefault();
        talk.release();
      }}
      onBlur={talk.release}
      onContextMenu={(e) => e.preventDefault()}
    >
      <MicIcon />
      Hold to talk
    </button>
  );
}

function DevicePicker({ id, deviceId, devices, onDevice }: { id: string; deviceId: string; devices: MediaDeviceInfo[]; onDevice(deviceId: string): void }) {
  const listed = devices.filter((d) => d.deviceId && d.deviceId !== 'default');
  return (
    <div class="voice-device">
      <label for={`${id}-device`}>Microphone</label>
      <select id={`${id}-device`} value={deviceId} onChange={(e) => onDevice(e.currentTarget.value)}>
        <option value="">Default microphone</option>
        {listed.map((d, i) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label || `Microphone ${i + 1}`}
          </option>
        ))}
        {deviceId && !listed.some((d) => d.deviceId === deviceId) && <option value={deviceId}>The microphone chosen before</option>}
      </select>
    </div>
  );
}

function transcriptText(transcript: VoiceViewProps['transcript']): string {
  if (!transcript?.text) return '';
  return transcript.final ? `You said: “${transcript.text}”` : `“${transcript.text}…”`;
}

export function VoiceSection({ shown, children }: { shown: VoiceShown; children: ComponentChildren }) {
  const id = useId();
  return (
    <section
      class={`voice voice-${shown.phase}`}
      aria-labelledby={`${id}-heading`}
      data-phase={shown.phase}
      data-played-frames={shown.playedFrames}
      data-queued-frames={shown.queuedFrames}
    >
      <h3 id={`${id}-heading`} class="visually-hidden">
        Voice
      </h3>
      {children}
    </section>
  );
}

export function VoiceView(props: VoiceViewProps) {
  const id = useId();
  const { phase, on, mode, talk, transcript, notice, hint } = props;
  return (
    <>
      <div class="voice-controls">
        {on ? (
          <Button variant="danger" onClick={props.onStop}>
            Stop voice
          </Button>
        ) : (
          <Button variant="primary" onClick={props.onStart}>
            <MicIcon />
            Start voice
          </Button>
        )}
        <fieldset class="voice-mode">
          <legend class="visually-hidden">Voice mode</legend>
          {MODES.map((m) => (
            <label key={m.value} class="voice-mode-option">
              <input type="radio" name={`${id}-mode`} value={m.value} checked={mode === m.value} onChange={() => props.onMode(m.value)} />
              <span>{m.label}</span>
            </label>
          ))}
        </fieldset>
        <DevicePicker id={id} deviceId={props.deviceId} devices={props.devices} onDevice={props.onDevice} />
      </div>
      <div class="voice-live">
        {on && <Meter level={props.level} />}
        <p class="voice-state" role="status">
          {phase === 'off' ? '' : props.status}
        </p>
        {on && talk && <Talk talk={talk} />}
      </div>
      <p class={`voice-transcript${transcript?.final ? '' : ' voice-transcript-partial'}`} aria-live="polite">
        {transcriptText(transcript)}
      </p>
      {notice && <p class="voice-notice">{notice}</p>}
      {!on && hint && phase === 'off' && <p class="field-hint voice-hint">{hint}</p>}
    </>
  );
}
