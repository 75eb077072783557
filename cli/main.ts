#!/usr/bin/env node
// The entry point: parse, run one command, render its result or its error, and exit.
// This is the only place in envlock that calls process.exit.

import { statSync } from 'node:fs';
import path from 'node:path';
import { makeContext, type Reporter } from '../core/context.js';
import { EnvlockError, EXIT, isEnvlockError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { flag, parseArgs, splitCommand } from './args.js';
import type { CommandSpec, ParsedArgs } from './command-spec.js';
import { COMMANDS, findCommand } from './command-table.js';
import { commandHelp, mainHelp } from './help.js';
import { handleInterrupts } from './interrupt.js';
import { plainReporter } from './output/plain-reporter.js';
import { describeError, failureEnvelope, humanError, internalError, successEnvelope } from './output/render.js';
import { outputMode, progressInterval } from './output/style.js';
import { envlockVersion } from '../core/version.js';
import { quoted } from '../core/shown.js';

interface Outcome {
  stdout: string;
  stderr: string;
  exitCode: number;
}

function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

async function chooseReporter(args: ParsedArgs, json: boolean): Promise<Reporter> {
  const mode = outputMode(process.env, process.stderr.isTTY === true, json);
  const options = { quiet: flag.bool(args, 'quiet'), verbose: flag.bool(args, 'verbose'), colour: mode.colour, ...progressInterval(process.env) };
  if (mode.live && !options.quiet) {
    const { inkReporter } = await import('./output/ink-reporter.js');
    return inkReporter(options);
  }
  return plainReporter(options);
}

function resolveDirectory(args: ParsedArgs): string {
  const dir = flag.str(args, 'directory');
  if (dir === undefined) return process.cwd();
  const resolved = path.resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(resolved).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new EnvlockError('FLAG_VALUE', `Directory ${quoted(dir)} given to -C/--directory does not exist.`, { hint: 'Pass an existing directory.' });
  return resolved;
}

async function execute(argv: string[], json: boolean): Promise<Outcome & { command?: string }> {
  const split = splitCommand(argv);
  const globals = parseArgs(split.before, undefined);
  if (flag.bool(globals, 'version')) {
    const version = envlockVersion();
    return { stdout: json ? successEnvelope(undefined, { version }) : `${version}\n`, stderr: '', exitCode: 0 };
  }
  let name = split.command;
  let after = split.after;
  if (name === 'help') {
    name = after[0];
    after = name === undefined ? [] : ['--help'];
  }
  if (name === undefined) {
    const help = mainHelp(envlockVersion());
    const asked = flag.bool(globals, 'help') || split.command === 'help';
    if (json) return { stdout: successEnvelope(undefined, { commands: COMMANDS.map((c) => ({ name: c.name, summary: c.summary })) }), stderr: '', exitCode: asked ? 0 : EXIT.USAGE };
    return asked ? { stdout: help, stderr: '', exitCode: 0 } : { stdout: '', stderr: help, exitCode: EXIT.USAGE };
  }
  const entry = findCommand(name);
  if (!entry) {
    throw new EnvlockError('UNKNOWN_COMMAND', `Unknown command ${quoted(name)}.${didYouMean(name, COMMANDS.map((c) => c.name))}`, { hint: 'Run `envlock --help` to list the commands.' });
  }
  const spec: CommandSpec = await entry.load();
  let args: ParsedArgs;
  try {
    args = parseArgs(after, spec);
  } catch (error) {
    throw Object.assign(error as object, { command: name });
  }
  for (const [key, value] of Object.entries(globals.flags)) if (args.flags[key] === undefined) args.flags[key] = value;
  if (flag.bool(args, 'help')) {
    return { stdout: json ? successEnvelope(name, { help: commandHelp(spec) }) : commandHelp(spec), stderr: '', exitCode: 0, command: name };
  }
  const controller = new AbortController();
  let reporter: Reporter | undefined;
  const interrupts = handleInterrupts(controller, () => reporter);
  reporter = await chooseReporter(args, json);
  try {
    const ctx = makeContext({
      cwd: resolveDirectory(args),
      env: process.env,
      storeOverride: flag.str(args, 'store'),
      offline: flag.bool(args, 'offline'),
      verbose: flag.bool(args, 'verbose'),
      quiet: flag.bool(args, 'quiet'),
      json,
      reporter,
      signal: controller.signal,
    });
    const outcome = await spec.run(args, ctx);
    await reporter.close();
    const failure = (outcome.exitCode ?? 0) !== 0 ? outcome.failure : undefined;
    if (failure !== undefined) {
      // A command that reports its findings and fails (doctor): the findings, then why it failed.
      const colour = outputMode(process.env, process.stderr.isTTY === true, json).colour;
      const stdout = json ? failureEnvelope(name, describeError(failure), outcome.result) : (outcome.text ?? '');
      return { stdout, stderr: json ? '' : humanError(failure, colour), exitCode: failure.exitCode, command: name };
    }
    const stdout = json ? successEnvelope(name, outcome.result) : (outcome.text ?? '');
    // A signal that came too late to stop anything: the result stands, and the warning it
    // printed ("stopping") is corrected.
    return { stdout, stderr: json ? '' : (interrupts.lateNote() ?? ''), exitCode: outcome.exitCode ?? 0, command: name };
  } catch (error) {
    await reporter.close();
    if (controller.signal.aborted && isEnvlockError(controller.signal.reason)) throw Object.assign(controller.signal.reason, { command: name });
    throw Object.assign(error as object, { command: name });
  } finally {
    interrupts.finish();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = wantsJson(argv);
  const colour = outputMode(process.env, process.stderr.isTTY === true, json).colour;
  let outcome: Outcome;
  try {
    outcome = await execute(argv, json);
  } catch (error) {
    const command = (error as { command?: string } | null)?.command;
    if (isEnvlockError(error)) {
      outcome = json
        ? { stdout: failureEnvelope(command, describeError(error)), stderr: '', exitCode: error.exitCode }
        : { stdout: '', stderr: humanError(error, colour), exitCode: error.exitCode };
    } else {
      const message = error instanceof Error ? error.message : String(error);
      outcome = {
        stdout: json ? failureEnvelope(command, { code: 'INTERNAL', message, exitCode: EXIT.INTERNAL }) : '',
        stderr: internalError(error, colour),
        exitCode: EXIT.INTERNAL,
      };
    }
  }
  if (outcome.stderr) process.stderr.write(outcome.stderr);
  if (outcome.stdout) process.stdout.write(outcome.stdout, () => process.exit(outcome.exitCode));
  else process.exit(outcome.exitCode);
}

void main();
