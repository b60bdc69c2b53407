/** The server's version as Query reports it; a test keeps it equal to package.json. */
export const SERVER_VERSION = '0.1.0';
export const VENDOR_IDENTIFICATION = 'kmip-for-vmware';
