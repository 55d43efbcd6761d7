/** What the studio knows about the machine's compute: the result of probing every backend. */

export type ProbeTarget = 'tensorflow-gpu' | 'tensorflow-cpu' | 'onnxruntime' | 'wasm' | 'cpu';

export interface ProbeReport {
  target: ProbeTarget;
  ok: boolean;
  /** Why it did not load (first line of the error); null when it loaded. */
  reason: string | null;
  /** The backend's name ('tensorflow', 'onnxruntime', 'wasm', 'cpu') once loaded. */
  backend: string | null;
  device: string | null;
  tfjsVersion: string | null;
  node: string;
  platform: string;
  arch: string;
  /** Whether the Node 23+ util shim for tfjs-node had to add anything in this Node. */
  utilShimInstalled: boolean | null;
  /** Time the probe took to load and check the backend, in ms. */
  ms: number;
}

export interface DoctorReport {
  /** The backend training on 'auto' gets: the first that loads in preference order; null if none. */
  chosen: { target: ProbeTarget; backend: string; device: string; tfjsVersion: string } | null;
  /** One entry per backend, in preference order. */
  backends: ProbeReport[];
  node: string;
  platform: string;
  arch: string;
  /** Whether the tfjs-node util shim (Node 23+) had anything to add in this Node; null if no probe said. */
  utilShimInstalled: boolean | null;
}
