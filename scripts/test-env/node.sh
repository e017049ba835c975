#!/usr/bin/env bash
# Prints the path of a Node.js binary of one major version, installing the official build from the npm registry
# (the node-linux-<arch> package) into .cache/node/<major> when this machine's `node` is another major:
#   shipped  the major deploy/Dockerfile ships (ARG NODE_VERSION)
#   oldest   the lowest major package.json's engines allows
#   <N>      major N
set -euo pipefail
cd "$(dirname "$0")/../.."

case "${1:?usage: node.sh shipped|oldest|<major>}" in
  shipped) major=$(sed -n 's/^ARG NODE_VERSION=\([0-9][0-9]*\)$/\1/p' deploy/Dockerfile) ;;
  oldest) major=$(node -p "require('./package.json').engines.node.match(/[0-9]+/)[0]") ;;
  *) major=$1 ;;
esac
[[ $major =~ ^[0-9]+$ ]] || { echo "node.sh: no Node.js major found for '$1'" >&2; exit 1; }

if [[ $(node -p 'process.versions.node.split(".")[0]') == "$major" ]]; then
  command -v node
  exit 0
fi
package="node-linux-$(node -p process.arch)"
dir=".cache/node/$major"
bin="$dir/node_modules/$package/bin/node"
if [[ ! -x $bin ]]; then
  echo "installing Node.js $major ($package from the npm registry) into $dir" >&2
  npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" "$package@$major" >&2
fi
echo "$PWD/$bin"
