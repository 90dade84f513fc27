// Vite turns a CSS import into a <link> of the bundle.
declare module '*.css';
