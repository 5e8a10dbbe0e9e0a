/**
 * Malicious `__reduce__` pickles (`(callable, (arg,))`) as CPython writes them at protocols 0, 2
 * and 4, with the offset of the `GLOBAL` / `STACK_GLOBAL` opcode a safe reader must stop at.
 *
 * @module
 */
import { OP, PickleBuilder } from '../pickle-builder.js';

/** A reducer pickle and where its global is named. */
export interface ReducerPickle {
  readonly bytes: Uint8Array;
  /** Offset of the `GLOBAL` (protocols 0, 2) or `STACK_GLOBAL` (protocol 4) opcode. */
  readonly globalOffset: number;
}

/**
 * `pickle.dumps(obj, protocol)` of an object whose `__reduce__` returns `(module.name, (arg,))`.
 * Protocol 0 uses `GLOBAL` and quoted `STRING`, protocol 2 `GLOBAL` + `BINUNICODE` + memo
 * opcodes, protocol 4 a `FRAME`, `SHORT_BINUNICODE` operands, `STACK_GLOBAL` and `MEMOIZE`.
 */
export function reducerPickle(module: string, name: string, protocol: 0 | 2 | 4, arg = 'echo pwned'): ReducerPickle {
  if (protocol === 0) {
    const p = new PickleBuilder().global(module, name).mark().line(OP.STRING, `'${arg}'`).tuple().reduce().stop();
    return { bytes: p.bytes(), globalOffset: 0 };
  }
  if (protocol === 2) {
    const p = new PickleBuilder().proto(2);
    const globalOffset = p.length;
    p.global(module, name).binput(0).str(arg).binput(1).tuple1().binput(2).reduce().binput(3).stop();
    return { bytes: p.bytes(), globalOffset };
  }
  const short = (p: PickleBuilder, text: string): PickleBuilder =>
    p.sized(OP.SHORT_BINUNICODE, new TextEncoder().encode(text).length, 1, new TextEncoder().encode(text));
  const body = new PickleBuilder();
  short(body, module).memoize();
  short(body, name).memoize();
  const stackGlobalAt = body.length;
  body.stackGlobal().memoize();
  short(body, arg).memoize().tuple1().memoize().reduce().memoize().stop();
  const head = new PickleBuilder().proto(4).frame(body.length);
  return {
    bytes: new PickleBuilder().raw(head.bytes(), body.bytes()).bytes(),
    globalOffset: head.length + stackGlobalAt,
  };
}

/**
 * Callables a malicious checkpoint reduces to (vector 55 and picklescan's corpus), as
 * `[module, qualified name]` the way CPython pickles them.
 */
export const RCE_GLOBALS: readonly (readonly [string, string])[] = [
  ['os', 'system'],
  ['posix', 'system'],
  ['nt', 'system'],
  ['builtins', 'eval'],
  ['builtins', 'exec'],
  ['__builtin__', 'exec'],
  ['builtins', 'getattr'],
  ['builtins', '__import__'],
  ['builtins', 'open'],
  ['builtins', 'compile'],
  ['builtins', 'breakpoint'],
  ['subprocess', 'Popen'],
  ['subprocess', 'run'],
  ['runpy', '_run_code'],
  ['functools', 'partial'],
  ['operator', 'attrgetter'],
  ['_operator', 'methodcaller'],
  ['pkgutil', 'resolve_name'],
  ['importlib', 'import_module'],
  ['inspect', 'getattr_static'],
  ['pydoc', 'locate'],
  ['pydoc', 'pipepager'],
  ['cProfile', 'run'],
  ['profile', 'run'],
  ['timeit', 'timeit'],
  ['ctypes', 'CDLL'],
  ['marshal', 'loads'],
  ['types', 'CodeType'],
  ['torch', 'load'],
  ['torch.serialization', 'load'],
  ['torch._inductor.codecache', 'compile_file'],
  ['numpy', 'load'],
  ['numpy.testing._private.utils', 'runstring'],
  ['numpy.f2py.crackfortran', 'getlincoef'],
  ['pickle', 'loads'],
  ['_pickle', 'loads'],
  ['sys', 'exit'],
  ['socket', 'create_connection'],
  ['http.client', 'HTTPSConnection'],
  ['requests.api', 'get'],
  ['aiohttp.client', 'ClientSession'],
  ['webbrowser', 'open'],
  ['bdb', 'Bdb.run'],
  ['pdb', 'run'],
  ['pip', 'main'],
  ['venv', 'create'],
  ['shutil', 'rmtree'],
  ['pty', 'spawn'],
  ['code', 'InteractiveInterpreter.runcode'],
  ['doctest', 'debug_script'],
  ['ensurepip', '_run_pip'],
  ['distutils.file_util', 'write_file'],
  ['trace', 'Trace.run'],
  ['uuid', '_get_command_stdout'],
  ['_osx_support', '_read_output'],
  ['_aix_support', '_read_cmd_output'],
  ['imaplib', 'IMAP4_stream'],
  ['_pyrepl.pager', 'pipe_pager'],
  ['test.support.script_helper', 'assert_python_ok'],
  ['asyncio.unix_events', '_UnixSubprocessTransport._start'],
  ['_io', 'FileIO'],
  ['urllib.request', 'urlopen'],
  ['logging', 'FileHandler'],
  ['ssl', 'get_server_certificate'],
  ['cloudpickle.cloudpickle', 'subimport'],
  ['idlelib.pyshell', 'ModifiedInterpreter.runcode'],
  ['lib2to3.pgen2.pgen', 'ParserGenerator.make_label'],
];
