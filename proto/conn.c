/* placeholder: being written */
typedef int ik_placeholder_proto_conn_c;
