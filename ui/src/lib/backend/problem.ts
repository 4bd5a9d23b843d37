// Errors the UI shows: RFC 9457 problem+json from the server, and the Tauri shell's
// `{ code, message }`, both as one `ApiProblem` with a stable `code` the UI translates.

/** One field at fault (`FieldError` in sync-server/src/error.rs). */
export interface FieldProblem {
  field: string;
  code: string;
  message: string;
}

/** A failed call: the machine `code` is what the UI maps to ka/en text (`error.<code>`). */
export class ApiProblem extends Error {
  /** Stable machine code (`invalid_input`, `unauthenticated`, `network`, …). */
  readonly code: string;
  /** HTTP status (0 for a network failure or a Tauri command error). */
  readonly status: number;
  /** The server's title in both languages, when it sent them. */
  readonly title: { ka: string; en: string } | null;
  /** Field-level errors. */
  readonly errors: FieldProblem[];

  constructor(
    code: string,
    message: string,
    opts: { status?: number; title?: { ka: string; en: string } | null; errors?: FieldProblem[] } = {},
  ) {
    super(message);
    this.name = 'ApiProblem';
    this.code = code;
    this.status = opts.status ?? 0;
    this.title = opts.title ?? null;
    this.errors = opts.errors ?? [];
  }

  /** The first error of `field` (or of a field path starting with it), if any. */
  fieldError(field: string): FieldProblem | undefined {
    return this.errors.find((e) => e.field === field || e.field.startsWith(field + '.'));
  }
}

/** Reads a failed response into an `ApiProblem`. */
export async function problemFrom(response: Response): Promise<ApiProblem> {
  let body: Record<string, unknown> | null = null;
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    body = null;
  }
  const code = typeof body?.code === 'string' ? body.code : `http_${response.status}`;
  const detail = typeof body?.detail === 'string' ? body.detail : response.statusText;
  const title =
    typeof body?.title === 'string' && typeof body?.title_ka === 'string'
      ? { ka: body.title_ka, en: body.title }
      : null;
  const errors = Array.isArray(body?.errors) ? (body.errors as FieldProblem[]) : [];
  return new ApiProblem(code, detail || code, { status: response.status, title, errors });
}

/** Any thrown value as an `ApiProblem` (Tauri command errors are `{ code, message }`). */
export function asProblem(e: unknown): ApiProblem {
  if (e instanceof ApiProblem) return e;
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    const { code, message } = e as { code: string; message?: string };
    return new ApiProblem(code, message ?? code);
  }
  if (e instanceof DOMException && e.name === 'AbortError') return new ApiProblem('aborted', 'aborted');
  if (e instanceof TypeError) return new ApiProblem('network', e.message);
  return new ApiProblem('internal', e instanceof Error ? e.message : String(e));
}
