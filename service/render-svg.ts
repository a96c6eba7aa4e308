// DOT → SVG with Graphviz compiled to WebAssembly (@viz-js/viz): laid out locally, nothing fetched.
// The wasm instance is made once per process and reused.
import { instance, type Viz } from '@viz-js/viz';

let viz: Promise<Viz> | undefined;

export class DiagramRenderError extends Error {
  override name = 'DiagramRenderError';
}

export async function renderSvg(dot: string): Promise<string> {
  viz ??= instance();
  const result = (await viz).render(dot, { format: 'svg', engine: 'dot' });
  if (result.status !== 'success') {
    const messages = result.errors.map((e) => e.message).join('; ');
    throw new DiagramRenderError(`graphviz could not lay out the diagram: ${messages}`);
  }
  return result.output;
}
