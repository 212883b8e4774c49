// What stands in for pulling an image: each known image maps the programs on its PATH to local
// programs, and has the default command of the real image. A container runs its command and args
// unchanged; only the program is found here instead of in the image. Unknown images fail to
// "pull", as they would without a registry.
import { basename } from 'node:path';

export interface LocalImage {
  /** Program name on the image's PATH -> the local command line that runs it. */
  programs: Record<string, string[]>;
  /** The image's ENTRYPOINT and CMD, for containers that give no command or args. */
  entrypoint?: string[];
  cmd?: string[];
  /** The image's USER as a number (default 0: root, as in the images init deploys). */
  user?: number;
  /**
   * File capabilities a program of the image carries (setcap ...=+ep). The kernel refuses to exec
   * such a program ("operation not permitted") when one of them is outside the bounding set: the
   * kube-apiserver image's binary has cap_net_bind_service, so `drop: [ALL]` alone fails there.
   */
  fileCapabilities?: Record<string, string[]>;
}

export type ImageMap = Record<string, LocalImage>;

export class ImageError extends Error {}

export function localImage(images: ImageMap, image: string): LocalImage {
  const local = images[image];
  if (!local) throw new ImageError(`the local pod runner has no program for image "${image}"`);
  return local;
}

/** The program a container's command/args run, by Kubernetes' rules (its own command, else the image's). */
export function containerArgv(images: ImageMap, image: string, command: string[] | undefined, args: string[] | undefined): string[] {
  const local = localImage(images, image);
  return command && command.length > 0 ? [...command, ...(args ?? [])] : [...(local.entrypoint ?? []), ...(args ?? local.cmd ?? [])];
}

/** The command line a container runs on this machine: Kubernetes' command/args rules, then the image's program. */
export function localCommand(images: ImageMap, image: string, command: string[] | undefined, args: string[] | undefined): string[] {
  const local = localImage(images, image);
  const argv = containerArgv(images, image, command, args);
  const [program, ...rest] = argv;
  if (program === undefined) throw new ImageError(`image "${image}" has no default command and the container gives none`);
  const found = local.programs[basename(program)];
  if (!found) throw new ImageError(`image "${image}" has no program "${program}" here (it has: ${Object.keys(local.programs).join(', ')})`);
  return [...found, ...rest];
}

/**
 * Expands $(VAR) in a command or argument as the kubelet does: from the container's environment,
 * leaving unknown references as they are, with $$ escaping a dollar.
 */
export function expandReferences(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => {
    if (name === undefined) return '$';
    return env[name] ?? m;
  });
}
