/**
 * store — reserved for a later issue (see ARCHITECTURE.md). Exports nothing yet.
 */
export {};
