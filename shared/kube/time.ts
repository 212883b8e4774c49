// Timestamps as the Kubernetes API writes them.

/** metav1.Time: RFC 3339 to the second. */
export const kubeTime = (d = new Date()): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** metav1.MicroTime (Lease times): RFC 3339 with microseconds. */
export const microTime = (d = new Date()): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
