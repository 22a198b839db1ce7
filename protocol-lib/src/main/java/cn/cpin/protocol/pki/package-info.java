/**
 * The CPIN public-key infrastructure (SEC-001 to SEC-006, SEC-014): identities carried in one
 * URI SAN ({@link cn.cpin.protocol.pki.CpinIdentity}), key and PEM handling
 * ({@link cn.cpin.protocol.pki.KeyMaterial}), the national root and node issuing CAs
 * ({@link cn.cpin.protocol.pki.CertificateAuthority}) and peer verification
 * ({@link cn.cpin.protocol.pki.CpinPeerVerifier}).
 *
 * <p>Plain Java with no gRPC dependency. BouncyCastle is used through provider instances and
 * its lightweight API; it is never registered as a global JCA provider.
 */
package cn.cpin.protocol.pki;
