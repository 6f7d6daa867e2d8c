/* placeholder: being written */
typedef int ik_placeholder_proto_proto_c;
