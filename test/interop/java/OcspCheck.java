import java.io.FileInputStream;
import java.io.InputStream;
import java.security.Security;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateRevokedException;
import java.security.cert.PKIXParameters;
import java.security.cert.PKIXRevocationChecker;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Validates a certificate with Java's PKIX CertPathValidator and OCSP alone (no CRLs): the OCSP URL
 * comes from the certificate's Authority Information Access, as a Java TLS client finds it.
 *
 *   java OcspCheck.java root.pem leaf.pem [intermediates.pem]
 *
 * Prints one line and exits 0: VALID, REVOKED <CRLReason> (e.g. REVOKED KEY_COMPROMISE) or
 * ERROR <message>. Exit 2 for bad arguments or unreadable files.
 */
public class OcspCheck {
    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.out.println("ERROR usage: java OcspCheck.java root.pem leaf.pem [intermediates.pem]");
            System.exit(2);
        }
        // OCSP only: no CRL Distribution Points, no fall-back to CRLs.
        System.setProperty("com.sun.security.enableCRLDP", "false");
        Security.setProperty("ocsp.enable", "true");

        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        X509Certificate root = (X509Certificate) readAll(cf, args[0]).iterator().next();
        List<X509Certificate> path = new ArrayList<>();
        path.add((X509Certificate) readAll(cf, args[1]).iterator().next());
        if (args.length == 3) {
            // The issuer of the leaf first; the trust anchor itself is not part of a CertPath.
            for (Certificate c : readAll(cf, args[2])) {
                X509Certificate x = (X509Certificate) c;
                if (!x.equals(root)) path.add(x);
            }
        }
        CertPath certPath = cf.generateCertPath(path);

        CertPathValidator cpv = CertPathValidator.getInstance("PKIX");
        PKIXRevocationChecker rc = (PKIXRevocationChecker) cpv.getRevocationChecker();
        rc.setOptions(EnumSet.of(PKIXRevocationChecker.Option.ONLY_END_ENTITY, PKIXRevocationChecker.Option.NO_FALLBACK));
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        params.setRevocationEnabled(true);
        params.addCertPathChecker(rc);

        try {
            cpv.validate(certPath, params);
            System.out.println("VALID");
        } catch (CertPathValidatorException e) {
            if (e.getReason() == CertPathValidatorException.BasicReason.REVOKED) {
                String reason = e.getCause() instanceof CertificateRevokedException cre
                    ? cre.getRevocationReason().name()
                    : String.valueOf(e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
                System.out.println("REVOKED " + reason);
            } else {
                System.out.println("ERROR " + describe(e));
            }
        } catch (Exception e) {
            System.out.println("ERROR " + describe(e));
        }
        System.exit(0);
    }

    private static Collection<? extends Certificate> readAll(CertificateFactory cf, String file) throws Exception {
        try (InputStream in = new FileInputStream(file)) {
            Collection<? extends Certificate> certs = cf.generateCertificates(in);
            if (certs.isEmpty()) throw new IllegalArgumentException("no certificate in " + file);
            return certs;
        }
    }

    /** The exception's message and those of its causes, on one line. */
    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (sb.length() > 0) sb.append(" <- ");
            sb.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
            if (t instanceof CertPathValidatorException cpve && cpve.getReason() != null) sb.append(" [").append(cpve.getReason()).append(']');
            if (t.getCause() == t) break;
        }
        return sb.toString().replace('\n', ' ');
    }
}
