/* placeholder: being written */
typedef int ik_placeholder_signer_crl_c;
