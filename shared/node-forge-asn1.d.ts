// node-forge's DER module on its own (module.exports is forge.asn1): its types are the main
// package's, which declares no subpath.
declare module 'node-forge/lib/asn1.js' {
  import type forge from 'node-forge';
  const asn1: typeof forge.asn1;
  export default asn1;
}
