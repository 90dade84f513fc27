/**
 * The web console: a React single-page app (app/) built by Vite into generated/ (committed, kept
 * current by `npm run build:console` and checked by `npm run check`: docs/adr/0023). The broker
 * serves those files and the JSON API whose shapes are in console-api.ts.
 */
import { fileURLToPath } from 'node:url';

export type * from './console-api.ts';

/** The built app: index.html and assets/. */
export const consoleAssetsDir = fileURLToPath(new URL('../generated/', import.meta.url));
