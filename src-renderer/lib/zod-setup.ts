/**
 * Must be the first import of the renderer. zod 4 compiles object parsers with `new Function` when
 * it can, and probes for that on first parse; under the page's CSP (script-src 'self', no
 * 'unsafe-eval') the probe is a CSP violation. jitless parsing is plenty fast for forms and events.
 */
import { config } from 'zod';

config({ jitless: true });
