/**
 * exec/webassembly.d.ts — the part of the WebAssembly JS API the VM uses.
 * @types/node 20 does not declare the `WebAssembly` global and the DOM lib
 * would bring in browser globals, so the few types we need are declared here.
 */
declare global {
  namespace WebAssembly {
    type ImportValue = ((...args: never[]) => unknown) | Global | Memory | Table;
    type ModuleImports = Record<string, ImportValue>;
    type Imports = Record<string, ModuleImports>;
    type ExportValue = ((...args: unknown[]) => unknown) | Global | Memory | Table;
    type Exports = Record<string, ExportValue>;
    interface ModuleExportDescriptor {
      name: string;
      kind: "function" | "global" | "memory" | "table";
    }
    interface ModuleImportDescriptor {
      module: string;
      name: string;
      kind: "function" | "global" | "memory" | "table";
    }
    class Module {
      constructor(bytes: Uint8Array | ArrayBuffer);
      static exports(module: Module): ModuleExportDescriptor[];
      static imports(module: Module): ModuleImportDescriptor[];
    }
    class Instance {
      constructor(module: Module, imports?: Imports);
      readonly exports: Exports;
    }
    interface MemoryDescriptor {
      initial: number;
      maximum?: number;
    }
    class Memory {
      constructor(descriptor: MemoryDescriptor);
      readonly buffer: ArrayBuffer;
      grow(delta: number): number;
    }
    interface GlobalDescriptor {
      value: "i32" | "i64" | "f32" | "f64";
      mutable?: boolean;
    }
    class Global {
      constructor(descriptor: GlobalDescriptor, value?: number | bigint);
      value: number | bigint;
    }
    class Table {
      readonly length: number;
    }
    class CompileError extends Error {}
    class LinkError extends Error {}
    class RuntimeError extends Error {}
    function validate(bytes: Uint8Array | ArrayBuffer): boolean;
    function compile(bytes: Uint8Array | ArrayBuffer): Promise<Module>;
    function instantiate(module: Module, imports?: Imports): Promise<Instance>;
  }
}
export {};
